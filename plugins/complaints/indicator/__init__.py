"""The quarterly indicator: computed by the SQL in include/sql/indicator/, scored by the rubric."""
