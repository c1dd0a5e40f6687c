//! The bundled OpsWorks CM emulator: the model served over HTTP (awsJson 1.1 or the envelope
//! dialect), with the fixture control plane. (Being written.)
