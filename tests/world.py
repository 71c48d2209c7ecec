"""The names of the tests' tiny world (its banks and the one password every test user has).

Tests import these from here (`from world import BANK_A`), never from conftest: conftest is pytest's to
load, and importing it as a module loads it a second time under another name.
"""

PASSWORD = "correct-horse-9"
BANK_A, BANK_B = "harbour-bank", "peak-bank"
