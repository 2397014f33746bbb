"""Complaints (klachtmeldingen): intake, lifecycle, deadlines and the reporter's privacy."""
