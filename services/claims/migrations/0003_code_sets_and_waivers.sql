-- The CMS quarterly files an operator loads (`rcm codesets load ncci|mue FILE`): each row keeps
-- the file it came from and the quarter it covers. A quarter with rows here replaces the
-- shipped sample for that quarter; loading a file again replaces that file's rows only (CMS
-- splits one quarter's PTP edits over several files).
CREATE TABLE ncci_ptp (
    quarter            text NOT NULL,
    source_file        text NOT NULL,
    column1            text NOT NULL,
    column2            text NOT NULL,
    effective_date     date NOT NULL,
    deletion_date      date,
    modifier_indicator text NOT NULL CHECK (modifier_indicator IN ('0', '1', '9'))
);
CREATE INDEX ncci_ptp_pair ON ncci_ptp (quarter, column1, column2);
CREATE INDEX ncci_ptp_file ON ncci_ptp (quarter, source_file);

CREATE TABLE mue (
    quarter                text NOT NULL,
    source_file            text NOT NULL,
    procedure_code         text NOT NULL,
    max_units              integer NOT NULL CHECK (max_units >= 0),
    adjudication_indicator text NOT NULL CHECK (adjudication_indicator IN ('1', '2', '3')),
    PRIMARY KEY (quarter, procedure_code)
);

CREATE TABLE code_set_loads (
    kind        text NOT NULL,        -- ncci | mue
    quarter     text NOT NULL,
    source_file text NOT NULL,
    rows        integer NOT NULL,
    loaded_at   timestamptz NOT NULL,
    PRIMARY KEY (kind, quarter, source_file)
);

-- An operator's waiver of one edit on one claim (audited); the claim is scrubbed again with it.
CREATE TABLE claim_edit_waivers (
    claim_id    text NOT NULL REFERENCES claims,
    edit_id     text NOT NULL,
    reason      text NOT NULL,
    operator_id text NOT NULL,
    waived_at   timestamptz NOT NULL,
    PRIMARY KEY (claim_id, edit_id)
);
