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
