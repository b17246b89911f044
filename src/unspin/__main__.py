"""`python -m unspin ...`: the same command line as the `unspin` entry point."""

from unspin.cli import main

if __name__ == "__main__":
    main()
