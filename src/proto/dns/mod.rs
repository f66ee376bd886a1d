//! dns app-layer parser (placeholder until implemented).
