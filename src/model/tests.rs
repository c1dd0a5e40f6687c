//! Unit tests of the model, one or more per rule id (the test names say which).
