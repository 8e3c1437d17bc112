"""Printable documents of the provider area: PDFs (reportlab) and spreadsheets (openpyxl) made
from the plain views the use cases return. No HTTP, no database."""
