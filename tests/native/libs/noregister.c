/* A handler library with GRAFT_LIBRARY() but no graft_register. graft must refuse it. */
#include <graft.h>

GRAFT_LIBRARY()

GRAFT_API int graft_not_register(void) { return 0; }
