import os
import sys

# tests/strategies.py and friends import as plain modules.
sys.path.insert(0, os.path.dirname(__file__))
