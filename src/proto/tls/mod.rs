//! tls app-layer parser (placeholder until implemented).
