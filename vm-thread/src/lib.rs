//! vm-thread: one VM shared by several OS threads behind one lock, with
//! native offload that releases the lock while blocking. Scheduled for a
//! later issue.
