"""python -m mixgan.train --model hmog --data mnist --depth 4 --steps N --out runs/NAME  (see cli.py)"""
from .cli import main

if __name__ == "__main__":
    main()
