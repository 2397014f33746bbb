-- Complaints (klachtmeldingen): residents' reports, their lifecycle and deadlines, the reporter's contact
-- details kept apart, and the link from a planned inspection (assignment) back to its complaint.
-- See backend/complaints/.

-- One complaint. `category` is a key of schemas/complaints/categories.json; `regime` is the category's (or
-- sexwork when the complaint concerns a sex-work object) and decides who may see it; NULL (category 'other',
-- 'ondermijning') means complaint handlers and admins only. The location is an address and/or coordinates;
-- `wijk` is always set (from the object, the postcode area, or the handler's override: `wijk_source`).
-- Deadlines are dates (Europe/Amsterdam) in working days from the category. Rows are never deleted.
CREATE TABLE complaint (
    id                        uuid PRIMARY KEY,
    category                  text NOT NULL CHECK (category ~ '^[a-z0-9_]{1,64}$'),
    regime                    text CHECK (regime IN ('alcohol', 'nix18', 'coffeeshop', 'sexwork', 'gambling')),
    channel                   text NOT NULL CHECK (channel IN ('phone', 'email', 'counter', 'web_form', 'api')),
    external_reference        text CHECK (length(external_reference) BETWEEN 1 AND 100),
    description               text NOT NULL CHECK (length(description) BETWEEN 1 AND 5000),
    incident_at               timestamptz,
    street                    text CHECK (length(street) BETWEEN 1 AND 200),
    house_number              integer CHECK (house_number BETWEEN 1 AND 99999),
    house_number_addition     text CHECK (length(house_number_addition) BETWEEN 1 AND 10),
    postcode                  text CHECK (postcode ~ '^[1-9][0-9]{3}[A-Z]{2}$'),
    city                      text CHECK (length(city) BETWEEN 1 AND 100),
    latitude                  double precision CHECK (latitude BETWEEN -90 AND 90),
    longitude                 double precision CHECK (longitude BETWEEN -180 AND 180),
    wijk                      text NOT NULL REFERENCES wijk (code),
    wijk_source               text NOT NULL CHECK (wijk_source IN ('object', 'postcode', 'override')),
    establishment_id          uuid REFERENCES establishment (id),
    wants_feedback            boolean NOT NULL,
    has_contact               boolean NOT NULL,
    state                     text NOT NULL DEFAULT 'received' CHECK (state IN (
        'received', 'in_progress', 'inspection_planned', 'resolved', 'reopened', 'rejected')),
    handler_id                uuid REFERENCES app_user (id),
    received_at               timestamptz NOT NULL,
    acknowledged_at           timestamptz,
    acknowledgement_due_on    date NOT NULL,
    resolution_due_on         date NOT NULL,
    outcome                   text CHECK (outcome IN (
        'violation_found', 'no_violation_found', 'nuisance_stopped', 'not_established', 'other')),
    answer                    text CHECK (length(answer) BETWEEN 1 AND 5000),
    answered_at               timestamptz,
    forwarded_to              text CHECK (length(forwarded_to) BETWEEN 2 AND 200),
    closed_at                 timestamptz,
    created_by                uuid NOT NULL REFERENCES app_user (id),
    version                   integer NOT NULL DEFAULT 1,
    created_at                timestamptz NOT NULL DEFAULT now(),
    updated_at                timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT complaint_coordinates_paired CHECK ((latitude IS NULL) = (longitude IS NULL)),
    CONSTRAINT complaint_address_whole CHECK (
        (street IS NULL) = (house_number IS NULL) AND (street IS NULL) = (postcode IS NULL)
        AND (street IS NULL) = (city IS NULL) AND (street IS NOT NULL OR house_number_addition IS NULL)),
    CONSTRAINT complaint_has_location CHECK (street IS NOT NULL OR latitude IS NOT NULL),
    CONSTRAINT complaint_feedback_needs_contact CHECK (NOT wants_feedback OR has_contact),
    CONSTRAINT complaint_answer_only_when_wanted CHECK (answer IS NULL OR wants_feedback),
    CONSTRAINT complaint_resolved_has_outcome CHECK (state <> 'resolved' OR outcome IS NOT NULL),
    CONSTRAINT complaint_rejected_is_forwarded CHECK (state <> 'rejected' OR forwarded_to IS NOT NULL)
);
-- A resend by an intake system with its own reference never makes a second complaint.
CREATE UNIQUE INDEX complaint_external_reference_key ON complaint (channel, external_reference)
    WHERE external_reference IS NOT NULL;
-- Lists page newest first by (received_at, id): overall, per object, address, wijk, state and handler.
CREATE INDEX complaint_received_idx ON complaint (received_at DESC, id DESC);
CREATE INDEX complaint_establishment_idx ON complaint (establishment_id, received_at DESC, id DESC)
    WHERE establishment_id IS NOT NULL;
CREATE INDEX complaint_address_idx ON complaint (postcode, house_number, received_at DESC, id DESC)
    WHERE postcode IS NOT NULL;
CREATE INDEX complaint_wijk_idx ON complaint (wijk, received_at DESC, id DESC);
CREATE INDEX complaint_state_idx ON complaint (state, received_at DESC, id DESC);
CREATE INDEX complaint_handler_idx ON complaint (handler_id, received_at DESC, id DESC) WHERE handler_id IS NOT NULL;
-- Deadline lists page by (due date, id) over the open complaints only: their first page costs the same
-- at any number of closed complaints (tests/bench/bench_complaints.py).
CREATE INDEX complaint_resolution_due_idx ON complaint (resolution_due_on, id)
    WHERE state IN ('received', 'in_progress', 'inspection_planned', 'reopened');
CREATE INDEX complaint_acknowledgement_due_idx ON complaint (acknowledgement_due_on, id) WHERE state = 'received';

-- The reporter's identity and contact details, apart from the complaint so no list, sync, export or report
-- query can pick them up by accident. Only complaint handlers and admins read them, and each read is audited.
CREATE TABLE complaint_reporter (
    complaint_id  uuid PRIMARY KEY REFERENCES complaint (id),
    name          text CHECK (length(name) BETWEEN 1 AND 200),
    email         text CHECK (length(email) BETWEEN 3 AND 254),
    phone         text CHECK (length(phone) BETWEEN 8 AND 32),
    CONSTRAINT complaint_reporter_not_empty CHECK (coalesce(name, email, phone) IS NOT NULL)
);

-- Every state change: from, to, who, when and why (plus the outcome, answer or partner it carried).
CREATE TABLE complaint_transition (
    complaint_id  uuid NOT NULL REFERENCES complaint (id),
    seq           integer NOT NULL CHECK (seq >= 1),
    from_state    text,
    to_state      text NOT NULL,
    actor_id      uuid NOT NULL REFERENCES app_user (id),
    occurred_at   timestamptz NOT NULL DEFAULT now(),
    reason        text CHECK (length(reason) <= 1000),
    outcome       text,
    answer        text,
    forwarded_to  text,
    assignment_id uuid,
    PRIMARY KEY (complaint_id, seq)
);

-- A planned inspection knows the complaint it follows up (reason 'complaint').
ALTER TABLE assignment ADD COLUMN complaint_id uuid REFERENCES complaint (id);
CREATE INDEX assignment_complaint_idx ON assignment (complaint_id) WHERE complaint_id IS NOT NULL;
