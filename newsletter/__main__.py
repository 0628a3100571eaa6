"""Entry point for ``python -m newsletter``."""

from newsletter.cli import main

if __name__ == "__main__":
    main()
