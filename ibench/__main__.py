"""`python -m ibench` runs the command line."""

from ibench.cli import main

if __name__ == "__main__":
    main()
