#include "ClasKernels.h"
