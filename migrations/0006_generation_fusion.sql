-- Fusion weights fitted for a generation's embedder by `npm run eval -- --beir <folder> --split train
-- --fit`: {denseWeight, documentWeight, fittedOn, ...}. NULL until fitted; queries then use the
-- embedder's default (DENSE_WEIGHT still overrides either).
ALTER TABLE index_generations ADD COLUMN fusion jsonb;
