"""Checklists: versioned templates (schemas/checklists), publishing, and the answer validator."""
