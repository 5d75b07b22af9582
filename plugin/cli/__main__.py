"""``python -m plugin.cli``: what the ``workflows-plugin`` script runs (``up`` starts its children this way)."""

from plugin.cli.commands import main

if __name__ == "__main__":
    main()
