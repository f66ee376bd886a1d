//! http app-layer parser (placeholder until implemented).
