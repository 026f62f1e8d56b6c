"""`python -m feasstm_gui` starts the GUI, like `feasstm-studio`."""

from feasstm_gui.ui.app import main

if __name__ == "__main__":
    raise SystemExit(main())
