"""One widget per panel of the TUI, each drawn from a ``LabView`` (``lab.tui.model``)."""
