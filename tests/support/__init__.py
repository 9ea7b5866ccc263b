"""What the tests share, one module per concern: ``ports``, ``waiting``, ``emulator`` (the
emulator as a process), ``png`` (reading and writing PNGs), ``browser`` (headless Chromium),
``events`` (the event log's HTTP adapter alone) and ``fake_renderer`` (the ``Renderer``
contract without a browser).

One import style: ``from tests.support.<module> import <name>``. Fixtures stay in the
``conftest.py`` files, which import what they need from here."""
