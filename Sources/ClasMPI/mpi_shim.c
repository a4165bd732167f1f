// Open MPI through dlopen/dlsym: see include/ClasMPI.h.
#include "ClasMPI.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#include <sched.h>
#include <time.h>

// Open MPI's handles are pointers to predefined objects; the functions take them as such.
typedef void *handle;

static struct {
    void *library;
    const char *name;
    int (*init_thread)(int *, char ***, int, int *);
    int (*finalize)(void);
    int (*abort)(handle, int);
    int (*comm_rank)(handle, int *);
    int (*comm_size)(handle, int *);
    int (*barrier)(handle);
    int (*allreduce)(const void *, void *, int, handle, handle, handle);
    int (*iallreduce)(const void *, void *, int, handle, handle, handle, void **);
    int (*test)(void **, int *, void *);
    int (*wait)(void **, void *);
    int (*bcast)(void *, int, handle, int, handle);
    handle comm_world, type_float, type_double, type_byte, op_sum, op_max, op_min;
} mpi;

#define MPI_IN_PLACE_VALUE ((void *)1)  // Open MPI's MPI_IN_PLACE
#define MPI_THREAD_MULTIPLE_VALUE 3
#define CHUNK ((int64_t)1 << 30)

static int resolve(void **slot, const char *symbol, char *error, int error_length) {
    *slot = dlsym(mpi.library, symbol);
    if (*slot) return 0;
    snprintf(error, (size_t)error_length,
             "%s has no symbol '%s' (SwiftClas needs Open MPI; MPICH-family libraries are not supported)", mpi.name,
             symbol);
    return -1;
}

int clas_mpi_load(const char *path, char *error, int error_length) {
    if (mpi.library) return 0;
    const char *candidates[] = {path, "libmpi.so.40", "libmpi.so"};
    const char *tried = path ? path : "libmpi.so.40, libmpi.so";
    for (int i = path ? 0 : 1; i < (path ? 1 : 3); i++) {
        // RTLD_GLOBAL: Open MPI's plugins (mca_*.so) resolve libmpi's symbols from the global namespace.
        mpi.library = dlopen(candidates[i], RTLD_NOW | RTLD_GLOBAL);
        if (mpi.library) {
            mpi.name = candidates[i];
            break;
        }
    }
    if (!mpi.library) {
        const char *why = dlerror();
        snprintf(error, (size_t)error_length, "cannot load the MPI library (%s): %s", tried, why ? why : "not found");
        return -1;
    }
    struct {
        void **slot;
        const char *symbol;
    } table[] = {
        {(void **)&mpi.init_thread, "MPI_Init_thread"}, {(void **)&mpi.finalize, "MPI_Finalize"},
        {(void **)&mpi.abort, "MPI_Abort"},             {(void **)&mpi.comm_rank, "MPI_Comm_rank"},
        {(void **)&mpi.comm_size, "MPI_Comm_size"},     {(void **)&mpi.barrier, "MPI_Barrier"},
        {(void **)&mpi.allreduce, "MPI_Allreduce"},     {(void **)&mpi.iallreduce, "MPI_Iallreduce"},
        {(void **)&mpi.test, "MPI_Test"},               {(void **)&mpi.wait, "MPI_Wait"},
        {(void **)&mpi.bcast, "MPI_Bcast"},             {&mpi.comm_world, "ompi_mpi_comm_world"},
        {&mpi.type_float, "ompi_mpi_float"},            {&mpi.type_double, "ompi_mpi_double"},
        {&mpi.type_byte, "ompi_mpi_byte"},              {&mpi.op_sum, "ompi_mpi_op_sum"},
        {&mpi.op_max, "ompi_mpi_op_max"},               {&mpi.op_min, "ompi_mpi_op_min"},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        if (resolve(table[i].slot, table[i].symbol, error, error_length) != 0) {
            dlclose(mpi.library);
            mpi.library = NULL;
            return -1;
        }
    }
    return 0;
}

const char *clas_mpi_library_name(void) { return mpi.name ? mpi.name : ""; }

int clas_mpi_init(int *rank, int *size, int *thread_level) {
    int rc = mpi.init_thread(NULL, NULL, MPI_THREAD_MULTIPLE_VALUE, thread_level);
    if (rc != 0) return rc;
    rc = mpi.comm_rank(mpi.comm_world, rank);
    if (rc != 0) return rc;
    return mpi.comm_size(mpi.comm_world, size);
}

int clas_mpi_finalize(void) { return mpi.finalize(); }

void clas_mpi_abort(int code) { mpi.abort(mpi.comm_world, code); }

int clas_mpi_barrier(void) { return mpi.barrier(mpi.comm_world); }

static handle type_handle(int type) { return type == CLAS_MPI_DOUBLE ? mpi.type_double : mpi.type_float; }
static handle op_handle(int op) { return op == CLAS_MPI_MAX ? mpi.op_max : op == CLAS_MPI_MIN ? mpi.op_min : mpi.op_sum; }
static int64_t type_size(int type) { return type == CLAS_MPI_DOUBLE ? 8 : 4; }

int clas_mpi_allreduce(void *buffer, int64_t count, int type, int op) {
    char *p = buffer;
    for (int64_t done = 0; done < count; done += CHUNK) {
        int n = (int)(count - done < CHUNK ? count - done : CHUNK);
        int rc = mpi.allreduce(MPI_IN_PLACE_VALUE, p + done * type_size(type), n, type_handle(type), op_handle(op),
                               mpi.comm_world);
        if (rc != 0) return rc;
    }
    return 0;
}

int clas_mpi_iallreduce(void *buffer, int64_t count, int type, int op, void **request) {
    if (count > CHUNK) return -1;
    return mpi.iallreduce(MPI_IN_PLACE_VALUE, buffer, (int)count, type_handle(type), op_handle(op), mpi.comm_world,
                          request);
}

int clas_mpi_test(void **request, int *done) { return mpi.test(request, done, NULL); }

int clas_mpi_wait(void **request) { return mpi.wait(request, NULL); }

int clas_mpi_wait_yielding(void **request) {
    // Testing is what moves a non-blocking collective forward (each shared-memory fragment needs both sides to
    // poll), so the first tests follow each other closely (sched_yield between them); a longer wait then sleeps
    // 10 µs, doubling to 100 µs. Measured on 2 shared cores: 1 ms sleeps made a step 50 % slower, MPI_Wait's
    // spinning 30-80 % slower and with twice the CPU time.
    long pause = 10000;  // ns
    for (long i = 0;; i++) {
        int done = 0;
        int rc = mpi.test(request, &done, NULL);
        if (rc != 0 || done) return rc;
        if (i < 200) {
            sched_yield();
            continue;
        }
        struct timespec t = {0, pause};
        nanosleep(&t, NULL);
        if (pause < 100000) pause *= 2;
    }
}

int clas_mpi_allreduce_yielding(void *buffer, int64_t count, int type, int op) {
    char *p = buffer;
    for (int64_t done = 0; done < count; done += CHUNK) {
        int n = (int)(count - done < CHUNK ? count - done : CHUNK);
        void *request = NULL;
        int rc = mpi.iallreduce(MPI_IN_PLACE_VALUE, p + done * type_size(type), n, type_handle(type), op_handle(op),
                                mpi.comm_world, &request);
        if (rc == 0) rc = clas_mpi_wait_yielding(&request);
        if (rc != 0) return rc;
    }
    return 0;
}

int clas_mpi_bcast(void *buffer, int64_t bytes, int root) {
    char *p = buffer;
    for (int64_t done = 0; done < bytes; done += CHUNK) {
        int n = (int)(bytes - done < CHUNK ? bytes - done : CHUNK);
        int rc = mpi.bcast(p + done, n, mpi.type_byte, root, mpi.comm_world);
        if (rc != 0) return rc;
    }
    return 0;
}
