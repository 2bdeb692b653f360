-- Institutional (facility) 835s: what a claim payment says besides its money, kept on its posting
-- for the account card: CLP11/CLP12 (DRG and weight), MIA (covered days, DRG and outlier amounts)
-- or MOA (reimbursement rate, HCPCS payable), and their remark codes (domain/posting.Facility).
-- NULL for a professional claim payment.
ALTER TABLE postings ADD COLUMN facility jsonb;
