// SwiftPM needs one source file per C target; the shim itself is header-only.
#include "CGWLBLinux.h"
