//! Tables (`ltable.c`). STUB: being written.
