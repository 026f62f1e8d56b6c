"""Expression proposals: `feasstm propose`."""

from __future__ import annotations

import argparse
from pathlib import Path

from feasstm_gui.cli.common import add_project_arg, open_store, run_job


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("propose", help="a model proposes an expression code for each aligned face",
                       description="Run an expression model over the aligned faces and store "
                       "its code and seven probabilities per face, apart from the labels (a "
                       "proposal is never a label until an annotator accepts it). The default "
                       "model is the bundled FER2013 mini-Xception; --model takes your own ONNX "
                       "file with its JSON description beside it (docs/PROPOSALS.md). Run again "
                       "to resume. Exit 0, 1 (problems reported) or 2 (nothing done).")
    add_project_arg(p)
    p.add_argument("--clip", action="append", metavar="ID", help="only this clip (repeatable)")
    p.add_argument("--model", type=Path, metavar="FILE", default=None,
                   help="an ONNX model with FILE's name and .json beside it (default: the "
                   "bundled FER2013 model)")
    p.set_defaults(func=cmd_propose)


def cmd_propose(args) -> int:
    from feasstm_gui.core.labels.expression_model import load_model
    from feasstm_gui.core.labels.propose import propose

    model = load_model(args.model)  # a model that does not fit stops here: nothing changed
    with open_store(args) as store:
        result = run_job(propose(store, args.clip, model), "propose")
    print(f"{result.summary} (model: {model.id})")
    return result.exit_status


def project_agreement(args) -> int:
    """`feasstm agreement PROJECT`: the annotators' label agreement (when two or more labelled)
    and the model against each annotator and the final labels."""
    import json

    from feasstm_gui.core.ratings.agreement import label_agreement
    from feasstm_gui.core.ratings.model_agreement import model_agreement
    from feasstm_gui.core.store import Store
    from feasstm_gui.core.store import proposals as sp
    from feasstm_gui.core.store import ratings as rdb

    with Store.open(args.project if hasattr(args, "project") else args.ratings,
                    read_only=True) as store:
        labels = rdb.label_rows(store)
        proposed, final, name = sp.model_and_final_codes(store)
    annotators = {who for _, who, _ in labels}
    result: dict = {"project": str(args.ratings), "kind": "labels",
                    "annotators": label_agreement(labels) if len(annotators) >= 2 else None,
                    "model": model_agreement(proposed, labels, final, name) if proposed else None}
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2, allow_nan=False))
        return 0
    print(format_model_agreement(result))
    return 0


def format_model_agreement(result: dict) -> str:
    from feasstm_gui.cli.ratings_stats import _block

    lines = [f"{result['project']}: expression labels"]
    if result["annotators"]:
        lines += _block(result["annotators"], "")
    else:
        lines.append("  fewer than two annotators: no agreement between annotators")
    model = result["model"]
    if not model:
        lines.append("no proposals (run `feasstm propose` first)")
        return "\n".join(lines)
    lines.append(f"model {model['model']} ({model['proposed']} frames proposed) as an annotator:")
    for c in model["comparisons"]:
        kappa = "null" if c["cohen_kappa"] is None else f"{c['cohen_kappa']:.3f}"
        agree = "" if c["agreement"] is None else f", {100 * c['agreement']:.1f} % agree"
        lines.append(f"  vs {c['versus']}: {c['n']} frames{agree}, Cohen's kappa {kappa}")
        if c["n"]:
            lines.append(f"      rows: the model's code; columns: {c['versus']}'s")
            lines.append("          " + "".join(f"{v:>5}" for v in c["labels"]))
            for code, row in zip(c["labels"], c["matrix"]):
                lines.append(f"      {code:>4}" + "".join(f"{v:>5}" for v in row))
        if c["note"]:
            lines.append(f"      note: {c['note']}")
    return "\n".join(lines)
