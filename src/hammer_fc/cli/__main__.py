"""``python -m hammer_fc.cli ARGS`` = ``hammer ARGS`` (and what ``accelerate launch -m`` runs)."""

from hammer_fc.cli.root import main

if __name__ == "__main__":
    main()
