#ifndef CLAS_KERNELS_H
#define CLAS_KERNELS_H
#include <stddef.h>
#include <stdint.h>
#endif
