-- Performance indicators (backend/reports/): indexes that keep a report's cost proportional to its period.

-- "Objects overdue for their cycle" reads each object's latest reviewed control up to a date: one index probe
-- per object instead of walking all its inspections (the same for a month as for a year).
CREATE INDEX inspection_reviewed_establishment_idx ON inspection (establishment_id, inspected_at DESC)
    WHERE state = 'reviewed' AND establishment_id IS NOT NULL;
