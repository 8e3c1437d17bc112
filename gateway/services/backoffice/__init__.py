"""The operator's back office: staff accounts, protocol status, analysis, payments, listings.

Use cases take plain values and return plain dataclasses; they know nothing of SOAP. Every
refusal is a BackOfficeError with a Portuguese message meant for the operator's staff.
"""
