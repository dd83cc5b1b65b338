-- A follow-up question is answered as the standalone question rewritten from its conversation
-- (issue 17); the log keeps both, so a bad answer can be traced to a bad rewrite. NULL: the
-- question stood alone.
ALTER TABLE query_log ADD COLUMN rewritten_question text;
