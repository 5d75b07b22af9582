-- The equipment list of the employee-onboarding sample: equipment.db is built from this file
-- (sqlite3 equipment.db < equipment.sql); tests/test_sample_onboarding.py checks that the two agree.
CREATE TABLE equipment (
  item TEXT PRIMARY KEY,
  role TEXT NOT NULL,          -- who gets it: a role, or 'all'
  in_stock INTEGER NOT NULL,
  lead_days INTEGER NOT NULL   -- days to get one when none is in stock
);
INSERT INTO equipment VALUES ('laptop', 'all', 4, 5);
INSERT INTO equipment VALUES ('headset', 'all', 12, 2);
INSERT INTO equipment VALUES ('badge', 'all', 40, 1);
INSERT INTO equipment VALUES ('external monitor', 'engineer', 0, 7);
INSERT INTO equipment VALUES ('hardware security key', 'engineer', 2, 3);
INSERT INTO equipment VALUES ('phone', 'sales', 1, 4);
