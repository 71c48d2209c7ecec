"""The names of the tests' tiny world (its banks and the one password every test user has).

Tests import these from here (`from world import BANK_A`), never from conftest: conftest is pytest's to
load, and importing it as a module loads it a second time under another name.
"""

PASSWORD = "correct-horse-9"
BANK_A, BANK_B = "harbour-bank", "peak-bank"

# One applicant of the simulator's schema, for tests that explain a decision.
APPLICANT = {
    "applicant_id": "a-1",
    "monthly_income": 30000,
    "employment_type": "salaried",
    "employment_tenure_years": 3,
    "housing": "private_rented",
    "debt_servicing_ratio": 0.4,
    "credit_utilisation": 0.5,
    "dpd_30_count": 0,
    "dpd_60_count": 0,
    "dpd_90_count": 0,
    "bureau_enquiries_6m": 1,
    "bureau_grade": "C",
    "product": "credit_card",
    "age": 35,
    "sex": "F",
}
