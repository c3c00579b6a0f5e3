"""``python -m hammer_fc.train ...`` = ``hammer train ...``: the form ``accelerate launch -m`` runs."""

import sys

from hammer_fc.cli import main

if __name__ == "__main__":
    sys.argv = ["hammer", "train", *sys.argv[1:]]
    main()
