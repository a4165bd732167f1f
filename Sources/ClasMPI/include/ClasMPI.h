// ClasMPI: Open MPI loaded at run time with dlopen, so building SwiftClas never needs MPI headers or libraries.
//
// Only processes started by `mpirun` call `clas_mpi_load`; a plain `tools train` never touches MPI. The shim
// resolves the handful of MPI functions the engine uses and Open MPI's predefined handles (`ompi_mpi_comm_world`,
// `ompi_mpi_float`, `ompi_mpi_op_sum`, ...), which Open MPI exports as data symbols: `MPI_COMM_WORLD` is
// `&ompi_mpi_comm_world`. MPICH-family libraries use integer handles and are not supported.
#ifndef CLAS_MPI_H
#define CLAS_MPI_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Element types of reductions.
enum { CLAS_MPI_FLOAT = 0, CLAS_MPI_DOUBLE = 1 };
/// Reduction operators.
enum { CLAS_MPI_SUM = 0, CLAS_MPI_MAX = 1, CLAS_MPI_MIN = 2 };

/// Loads the MPI library (`path`, or `libmpi.so.40` then `libmpi.so` when NULL) and resolves every symbol.
/// Returns 0 on success; otherwise writes a message into `error` (at most `error_length` bytes) and returns -1.
int clas_mpi_load(const char *path, char *error, int error_length);
/// The file name the library was loaded from (after a successful `clas_mpi_load`).
const char *clas_mpi_library_name(void);
/// `MPI_Init_thread` asking for MPI_THREAD_MULTIPLE; fills rank, size and the thread level provided (0 ... 3).
int clas_mpi_init(int *rank, int *size, int *thread_level);
/// `MPI_Finalize`.
int clas_mpi_finalize(void);
/// `MPI_Abort(MPI_COMM_WORLD, code)`: ends every rank of the job.
void clas_mpi_abort(int code);
/// `MPI_Barrier(MPI_COMM_WORLD)`.
int clas_mpi_barrier(void);
/// In-place `MPI_Allreduce` of `count` elements (split into calls of at most 2^30 elements).
int clas_mpi_allreduce(void *buffer, int64_t count, int type, int op);
/// In-place `MPI_Iallreduce` (count < 2^31); `*request` receives the request handle.
int clas_mpi_iallreduce(void *buffer, int64_t count, int type, int op, void **request);
/// `MPI_Test`: sets `*done` to 1 when the request has completed (the handle is then released).
int clas_mpi_test(void **request, int *done);
/// `MPI_Wait`.
int clas_mpi_wait(void **request);
/// Waits for a request by testing it, first 200 times with `sched_yield` between tests, then sleeping 10 µs
/// doubling to 100 µs, instead of spinning like `MPI_Wait`: a rank waiting for a slower one leaves the core to it
/// (ranks sharing cores, `--oversubscribe`).
int clas_mpi_wait_yielding(void **request);
/// `clas_mpi_allreduce` through `MPI_Iallreduce` and `clas_mpi_wait_yielding`.
int clas_mpi_allreduce_yielding(void *buffer, int64_t count, int type, int op);
/// `MPI_Bcast` of `bytes` bytes from `root` (split into calls of at most 2^30 bytes).
int clas_mpi_bcast(void *buffer, int64_t bytes, int root);

#ifdef __cplusplus
}
#endif

#endif
