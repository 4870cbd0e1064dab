"""Jinja2 templates: every text a customer or staff member reads (messages and pages).

This package holds no code beyond the path; it exists so the templates ship inside the wheel.
"""

from pathlib import Path

TEMPLATE_DIR = Path(__file__).resolve().parent
