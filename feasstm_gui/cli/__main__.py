"""`python -m feasstm_gui.cli` runs the `feasstm` command."""

from feasstm_gui.cli import main

raise SystemExit(main())
