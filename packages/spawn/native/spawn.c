/*
 * @wtflow/spawn native path: posix_spawn (glibc: clone(CLONE_VM|CLONE_VFORK), so the cost does
 * not grow with the parent's heap as fork()'s page-table copy does), the child in its own
 * session and process group, and exit notification through a pidfd polled by the event loop.
 *
 * JS API (see src/native-backend.ts):
 *   spawn(file, argvBlock, envBlock, cwd, stdoutSpec, stderrSpec, onExit, onSpawned)
 *     argvBlock / envBlock: the strings joined by '\0' (one crossing instead of one per string).
 *     stdoutSpec / stderrSpec: >= 0 a descriptor to dup2, -1 a new pipe, -2 /dev/null.
 *     onSpawned(error, [pid, stdoutFd, stderrFd]) once the child has exec'd (or failed to):
 *       the fds are the parent's read ends of the pipes (-1 where none was made); the error
 *       has `code` (ENOENT…), `errno` (negative, like Node's) and `syscall`.
 *     onExit(exitCode, signalNumber, errno) once, from the event loop, after the child is reaped.
 *   probe() throws unless this kernel has pidfd_open and waitid(P_PIDFD).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <paths.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef POSIX_SPAWN_SETSID
#error "posix_spawn needs POSIX_SPAWN_SETSID (glibc >= 2.26)"
#endif

typedef struct child_s child_t;
typedef struct {
  napi_env env;
  child_t* children; /* live watches, so that an env teardown can close them */
  size_t open_handles; /* polls not yet through their close callback */
  int closing;         /* the env is being torn down */
  napi_async_cleanup_hook_handle cleanup_hook;
} instance_t;

struct child_s {
  uv_poll_t poll;
  instance_t* instance;
  napi_ref callback;
  napi_async_context async_context;
  int pidfd;
  pid_t pid;
  child_t* prev;
  child_t* next;
};

#define CHECK(call)                                                   \
  do {                                                                \
    if ((call) != napi_ok) {                                          \
      napi_throw_error(env, NULL, "@wtflow/spawn: N-API call failed"); \
      return NULL;                                                    \
    }                                                                 \
  } while (0)

static napi_value throw_errno(napi_env env, int err, const char* syscall) {
  napi_value error, message, code, errno_value, syscall_value;
  const char* name = uv_err_name(-err);
  napi_create_string_utf8(env, uv_strerror(-err), NAPI_AUTO_LENGTH, &message);
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &code);
  napi_create_error(env, code, message, &error);
  napi_create_int32(env, -err, &errno_value);
  napi_set_named_property(env, error, "errno", errno_value);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &syscall_value);
  napi_set_named_property(env, error, "syscall", syscall_value);
  napi_throw(env, error);
  return NULL;
}

/* A JS string as a malloc'd, NUL-terminated UTF-8 buffer; *length excludes the final NUL. */
static char* get_string(napi_env env, napi_value value, size_t* length) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, value, NULL, 0, &len) != napi_ok) return NULL;
  char* buffer = malloc(len + 1);
  if (buffer == NULL) return NULL;
  napi_get_value_string_utf8(env, value, buffer, len + 1, &len);
  if (length != NULL) *length = len;
  return buffer;
}

/* Splits a '\0'-joined block in place into a NULL-terminated array (count strings). */
static char** split_block(char* block, size_t length, size_t* count) {
  size_t n = length == 0 ? 0 : 1;
  for (size_t i = 0; i < length; i++)
    if (block[i] == '\0') n++;
  char** list = malloc((n + 1) * sizeof(char*));
  if (list == NULL) return NULL;
  size_t k = 0;
  if (n > 0) {
    list[k++] = block;
    for (size_t i = 0; i < length; i++)
      if (block[i] == '\0') list[k++] = block + i + 1;
  }
  list[k] = NULL;
  *count = n;
  return list;
}

/* Joins dir and file (and cwd when dir is relative: the child resolves it after its chdir). */
static char* join_path(const char* cwd, const char* dir, size_t dir_len, const char* file) {
  size_t cwd_len = (dir_len > 0 && dir[0] == '/') || cwd == NULL ? 0 : strlen(cwd);
  size_t file_len = strlen(file);
  char* path = malloc(cwd_len + 1 + dir_len + 1 + file_len + 1);
  if (path == NULL) return NULL;
  char* p = path;
  if (cwd_len > 0) {
    memcpy(p, cwd, cwd_len);
    p += cwd_len;
    *p++ = '/';
  }
  if (dir_len > 0) {
    memcpy(p, dir, dir_len);
    p += dir_len;
    *p++ = '/';
  }
  memcpy(p, file, file_len + 1);
  return path;
}

/*
 * execvp's search, done before spawning so that the child execs once: PATH from the child's
 * environment (as libuv does), skipping entries where the file is missing, remembering EACCES.
 * Returns a malloc'd path, or NULL with *err set.
 */
static char* find_program(const char* file, char** envp, const char* cwd, int* err) {
  if (file[0] == '\0') {
    *err = ENOENT;
    return NULL;
  }
  if (strchr(file, '/') != NULL) return strdup(file);
  const char* path_var = _PATH_DEFPATH;
  for (char** e = envp; *e != NULL; e++) {
    if (strncmp(*e, "PATH=", 5) == 0) {
      path_var = *e + 5;
      break;
    }
  }
  int seen_eacces = 0;
  const char* dir = path_var;
  for (;;) {
    const char* end = strchr(dir, ':');
    size_t dir_len = end == NULL ? strlen(dir) : (size_t)(end - dir);
    char* candidate = join_path(cwd, dir, dir_len, file);
    if (candidate == NULL) {
      *err = ENOMEM;
      return NULL;
    }
    struct stat st;
    if (stat(candidate, &st) == 0) {
      if (S_ISREG(st.st_mode) && access(candidate, X_OK) == 0) return candidate;
      seen_eacces = 1;
    }
    free(candidate);
    if (end == NULL) break;
    dir = end + 1;
  }
  *err = seen_eacces ? EACCES : ENOENT;
  return NULL;
}

static void on_close(uv_handle_t* handle) {
  child_t* child = handle->data;
  instance_t* instance = child->instance;
  close(child->pidfd);
  free(child);
  /* Teardown waits for this: the addon's code must stay loaded until the last close callback. */
  if (--instance->open_handles == 0 && instance->closing) napi_remove_async_cleanup_hook(instance->cleanup_hook);
}

static void unlink_child(child_t* child) {
  instance_t* instance = child->instance;
  if (child->prev != NULL) child->prev->next = child->next;
  else instance->children = child->next;
  if (child->next != NULL) child->next->prev = child->prev;
  child->prev = child->next = NULL;
}

static void on_pidfd(uv_poll_t* poll, int status, int events) {
  (void)status;
  (void)events;
  child_t* child = poll->data;
  napi_env env = child->instance->env;
  siginfo_t info;
  memset(&info, 0, sizeof info);
  int r;
  do r = waitid(P_PIDFD, (id_t)child->pidfd, &info, WEXITED | WNOHANG);
  while (r == -1 && errno == EINTR);
  int wait_errno = r == -1 ? errno : 0;
  if (r == -1 && wait_errno == EAGAIN) return;
  if (r == 0 && info.si_pid == 0) return; /* not exited yet: a spurious wake-up */

  uv_poll_stop(poll);
  unlink_child(child);

  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  napi_value argv[3], callback, global;
  if (wait_errno == 0 && info.si_code == CLD_EXITED) napi_create_int32(env, info.si_status, &argv[0]);
  else napi_get_null(env, &argv[0]);
  if (wait_errno == 0 && info.si_code != CLD_EXITED) napi_create_int32(env, info.si_status, &argv[1]);
  else napi_get_null(env, &argv[1]);
  napi_create_int32(env, wait_errno, &argv[2]);
  napi_get_reference_value(env, child->callback, &callback);
  napi_get_global(env, &global);
  napi_status call_status = napi_make_callback(env, child->async_context, global, callback, 3, argv, NULL);
  if (call_status == napi_pending_exception) {
    napi_value exception;
    napi_get_and_clear_last_exception(env, &exception);
    napi_fatal_exception(env, exception);
  }
  napi_close_handle_scope(env, scope);
  napi_delete_reference(env, child->callback);
  napi_async_destroy(env, child->async_context);
  uv_close((uv_handle_t*)poll, on_close);
}

/*
 * Env teardown (a worker thread ending): stop watching, nobody is left to tell (the children
 * run on, unreaped). Node keeps the env's loop running, and the addon loaded, until every poll
 * has been closed and the hook removed. The instance is never freed (a few bytes per env): a
 * spawn still on a pool thread may complete after this.
 */
static void cleanup_instance(napi_async_cleanup_hook_handle handle, void* data) {
  (void)handle;
  instance_t* instance = data;
  instance->closing = 1;
  while (instance->children != NULL) {
    child_t* child = instance->children;
    unlink_child(child);
    uv_poll_stop(&child->poll);
    uv_close((uv_handle_t*)&child->poll, on_close);
  }
  if (instance->open_handles == 0) napi_remove_async_cleanup_hook(instance->cleanup_hook);
}

typedef struct {
  int fds[2];
} pipe_t;

/* Prepares one of stdout/stderr: dup2 a given fd, /dev/null, or a new pipe (parent keeps fds[0]). */
static int add_output(posix_spawn_file_actions_t* actions, int spec, int target, pipe_t* p) {
  if (spec >= 0) return posix_spawn_file_actions_adddup2(actions, spec, target);
  if (spec == -2) return posix_spawn_file_actions_addopen(actions, target, "/dev/null", O_WRONLY, 0);
  if (pipe2(p->fds, O_CLOEXEC) == -1) return errno;
  return posix_spawn_file_actions_adddup2(actions, p->fds[1], target);
}

static void close_fd(int* fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

typedef struct {
  const char* program;
  char** argv;
  size_t argc;
  char** envp;
  const char* cwd; /* NULL: the parent's */
  int stdout_spec, stderr_spec;
} spawn_request_t;

/* posix_spawn with our file actions and attributes. Returns 0 or an errno; *failed_call names the step. */
static int spawn_child(const spawn_request_t* req, pid_t* pid, pipe_t* out, pipe_t* errp, const char** failed_call) {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  sigset_t all, none;
  int err;
  *failed_call = "posix_spawn";
  if ((err = posix_spawn_file_actions_init(&actions)) != 0) return err;
  if ((err = posix_spawnattr_init(&attr)) != 0) {
    posix_spawn_file_actions_destroy(&actions);
    return err;
  }
  /*
   * Order matters: chdir first (a relative program path is the child's); stderr before stdout
   * when it is to go where the parent's fd 1 goes; stdin after the outputs (an output spec may
   * name fd 0); closefrom last.
   */
  if (req->cwd != NULL && (err = posix_spawn_file_actions_addchdir_np(&actions, req->cwd)) != 0) goto done;
  *failed_call = "pipe2";
  if (req->stderr_spec == 1) {
    if ((err = add_output(&actions, req->stderr_spec, 2, errp)) != 0) goto done;
    if ((err = add_output(&actions, req->stdout_spec, 1, out)) != 0) goto done;
  } else {
    if ((err = add_output(&actions, req->stdout_spec, 1, out)) != 0) goto done;
    if ((err = add_output(&actions, req->stderr_spec, 2, errp)) != 0) goto done;
  }
  *failed_call = "posix_spawn";
  if ((err = posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)) != 0) goto done;
  /* Descriptors the host opened without O_CLOEXEC (or inherited so) must not leak into commands. */
  if ((err = posix_spawn_file_actions_addclosefrom_np(&actions, 3)) != 0) goto done;

  /* Node ignores SIGPIPE; ignored dispositions survive exec, so every signal is reset to default. */
  /*
   * Every bit set, not sigfillset(): that leaves out glibc's two internal signals (32, 33),
   * which its posix_spawn then sets to SIG_IGN in the child, where fork+exec leaves none ignored.
   */
  memset(&all, 0xff, sizeof all);
  sigemptyset(&none);
  if ((err = posix_spawnattr_setsigdefault(&attr, &all)) != 0) goto done;
  if ((err = posix_spawnattr_setsigmask(&attr, &none)) != 0) goto done;
  if ((err = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK)) != 0)
    goto done;

  err = posix_spawn(pid, req->program, &actions, &attr, req->argv, req->envp);
  if (err == ENOEXEC) {
    /* Like execvp: a file without a #! line is a shell script. */
    char** sh_argv = malloc((req->argc + 2) * sizeof(char*));
    if (sh_argv == NULL) {
      err = ENOMEM;
      goto done;
    }
    sh_argv[0] = "/bin/sh";
    sh_argv[1] = (char*)req->program;
    for (size_t i = 1; i <= req->argc; i++) sh_argv[i + 1] = req->argv[i];
    err = posix_spawn(pid, "/bin/sh", &actions, &attr, sh_argv, req->envp);
    free(sh_argv);
  }
done:
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  return err;
}

/* One spawn: what JS asked for (copied, so that a pool thread can use it) and what came of it. */
typedef struct {
  napi_async_work work;
  napi_ref on_spawned; /* async only */
  napi_ref on_exit;
  char* file;
  char* argv_block;
  char* env_block;
  char* cwd;
  char* program;
  spawn_request_t req;
  pid_t pid;
  int pidfd;
  pipe_t out, errp;
  int err;
  const char* failed_call;
} job_t;

static void free_job(napi_env env, job_t* job) {
  close_fd(&job->out.fds[0]);
  close_fd(&job->out.fds[1]);
  close_fd(&job->errp.fds[0]);
  close_fd(&job->errp.fds[1]);
  if (job->on_spawned != NULL) napi_delete_reference(env, job->on_spawned);
  if (job->on_exit != NULL) napi_delete_reference(env, job->on_exit);
  free(job->program);
  free(job->req.argv);
  free(job->req.envp);
  free(job->file);
  free(job->argv_block);
  free(job->env_block);
  free(job->cwd);
  free(job);
}

/* Copies the arguments (file, argvBlock, envBlock, cwd, stdout, stderr, onExit) into a new job. */
static job_t* prepare_job(napi_env env, napi_value* args) {
  job_t* job = calloc(1, sizeof(job_t));
  if (job == NULL) return NULL;
  job->out.fds[0] = job->out.fds[1] = job->errp.fds[0] = job->errp.fds[1] = -1;
  job->pidfd = -1;
  job->failed_call = "posix_spawn";
  size_t argv_len = 0, env_len = 0, env_count = 0;
  if (napi_get_value_int32(env, args[4], &job->req.stdout_spec) != napi_ok ||
      napi_get_value_int32(env, args[5], &job->req.stderr_spec) != napi_ok ||
      napi_create_reference(env, args[6], 1, &job->on_exit) != napi_ok) {
    job->err = EINVAL;
    return job;
  }
  job->file = get_string(env, args[0], NULL);
  job->argv_block = get_string(env, args[1], &argv_len);
  job->env_block = get_string(env, args[2], &env_len);
  job->cwd = get_string(env, args[3], NULL);
  if (job->file == NULL || job->argv_block == NULL || job->env_block == NULL || job->cwd == NULL) {
    job->err = ENOMEM;
    return job;
  }
  job->req.argv = split_block(job->argv_block, argv_len, &job->req.argc);
  job->req.envp = split_block(job->env_block, env_len, &env_count);
  if (job->req.argv == NULL || job->req.envp == NULL) job->err = ENOMEM;
  job->req.cwd = job->cwd[0] == '\0' ? NULL : job->cwd;
  return job;
}

/* The part that blocks while the child starts (until its execve): no N-API, any thread. */
static void run_job(job_t* job) {
  if (job->err != 0) return;
  job->program = find_program(job->file, job->req.envp, job->req.cwd, &job->err);
  if (job->program == NULL) return;
  job->req.program = job->program;
  job->err = spawn_child(&job->req, &job->pid, &job->out, &job->errp, &job->failed_call);
  if (job->err != 0) return;
  /* The child has its copies of the write ends; the parent keeps only the read ends. */
  close_fd(&job->out.fds[1]);
  close_fd(&job->errp.fds[1]);
  /* The child is a zombie until we reap it, so its pid cannot be reused before pidfd_open. */
  job->pidfd = (int)syscall(SYS_pidfd_open, job->pid, 0);
  if (job->pidfd == -1) {
    /* Not expected on Linux >= 5.3 (checked at load); do not leave the child unwatched. */
    job->err = errno;
    job->failed_call = "pidfd_open";
    kill(-job->pid, SIGKILL);
    waitpid(job->pid, NULL, 0);
    return;
  }
  fcntl(job->pidfd, F_SETFD, FD_CLOEXEC);
}

/* On the loop's thread: watch the pidfd. On failure the child is killed and reaped. */
static void watch_job(napi_env env, instance_t* instance, job_t* job) {
  if (job->err != 0) return;
  if (instance->closing) {
    /* Spawned while the env went away: no one could ever learn of it. */
    siginfo_t info;
    job->err = ECANCELED;
    kill(-job->pid, SIGKILL);
    waitid(P_PIDFD, (id_t)job->pidfd, &info, WEXITED);
    close_fd(&job->pidfd);
    return;
  }
  child_t* child = calloc(1, sizeof(child_t));
  uv_loop_t* loop = NULL;
  if (child == NULL || napi_get_uv_event_loop(env, &loop) != napi_ok || uv_poll_init(loop, &child->poll, job->pidfd) != 0) {
    /* Cannot watch it: the caller gets an error, so the child must not outlive this call. */
    siginfo_t info;
    job->err = child == NULL ? ENOMEM : EINVAL;
    job->failed_call = "uv_poll_init";
    free(child);
    kill(-job->pid, SIGKILL);
    waitid(P_PIDFD, (id_t)job->pidfd, &info, WEXITED);
    close_fd(&job->pidfd);
    return;
  }
  napi_value resource_name;
  child->poll.data = child;
  child->instance = instance;
  child->pidfd = job->pidfd;
  child->pid = job->pid;
  child->callback = job->on_exit; /* ownership moves to the watch */
  job->on_exit = NULL;
  job->pidfd = -1;
  napi_create_string_utf8(env, "wtflow:spawn", NAPI_AUTO_LENGTH, &resource_name);
  napi_async_init(env, NULL, resource_name, &child->async_context);
  child->next = instance->children;
  if (instance->children != NULL) instance->children->prev = child;
  instance->children = child;
  instance->open_handles++;
  uv_poll_start(&child->poll, UV_READABLE, on_pidfd);
}

static napi_value errno_error(napi_env env, int err, const char* syscall) {
  napi_value error, message, code, errno_value, syscall_value;
  napi_create_string_utf8(env, uv_strerror(-err), NAPI_AUTO_LENGTH, &message);
  napi_create_string_utf8(env, uv_err_name(-err), NAPI_AUTO_LENGTH, &code);
  napi_create_error(env, code, message, &error);
  napi_create_int32(env, -err, &errno_value);
  napi_set_named_property(env, error, "errno", errno_value);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &syscall_value);
  napi_set_named_property(env, error, "syscall", syscall_value);
  return error;
}

/* [pid, stdoutFd, stderrFd]; the fds move to JS. */
static napi_value job_result(napi_env env, job_t* job) {
  napi_value result, pid_value, out_value, err_value;
  napi_create_array_with_length(env, 3, &result);
  napi_create_int32(env, job->pid, &pid_value);
  napi_create_int32(env, job->out.fds[0], &out_value);
  napi_create_int32(env, job->errp.fds[0], &err_value);
  napi_set_element(env, result, 0, pid_value);
  napi_set_element(env, result, 1, out_value);
  napi_set_element(env, result, 2, err_value);
  job->out.fds[0] = job->errp.fds[0] = -1;
  return result;
}

static void execute_job(napi_env env, void* data) {
  (void)env;
  run_job(data);
}

static void complete_job(napi_env env, napi_status status, void* data) {
  job_t* job = data;
  instance_t* instance;
  napi_get_instance_data(env, (void**)&instance);
  if (status != napi_ok && job->err == 0) job->err = ECANCELED;
  watch_job(env, instance, job);
  napi_value argv[2], callback, global;
  if (job->err != 0) {
    argv[0] = errno_error(env, job->err, job->failed_call);
    napi_get_undefined(env, &argv[1]);
  } else {
    napi_get_null(env, &argv[0]);
    argv[1] = job_result(env, job);
  }
  napi_get_reference_value(env, job->on_spawned, &callback);
  napi_get_global(env, &global);
  napi_delete_async_work(env, job->work);
  napi_call_function(env, global, callback, 2, argv, NULL);
  free_job(env, job);
}

/*
 * spawn(file, argvBlock, envBlock, cwd, stdout, stderr, onExit, onSpawned): posix_spawn runs on
 * a libuv pool thread, as it blocks its caller until the child's execve (vfork semantics), and
 * the loop must go on meanwhile (other children's output and exits). The given stdout/stderr
 * descriptors must stay open until onSpawned(error, [pid, stdoutFd, stderrFd]) is called.
 */
static napi_value js_spawn(napi_env env, napi_callback_info cbinfo) {
  size_t argc = 8;
  napi_value args[8], name;
  CHECK(napi_get_cb_info(env, cbinfo, &argc, args, NULL, NULL));
  if (argc != 8) {
    napi_throw_type_error(env, NULL, "spawn(file, argvBlock, envBlock, cwd, stdout, stderr, onExit, onSpawned)");
    return NULL;
  }
  job_t* job = prepare_job(env, args);
  if (job == NULL) return throw_errno(env, ENOMEM, "spawn");
  CHECK(napi_create_reference(env, args[7], 1, &job->on_spawned));
  CHECK(napi_create_string_utf8(env, "wtflow:spawn", NAPI_AUTO_LENGTH, &name));
  CHECK(napi_create_async_work(env, NULL, name, execute_job, complete_job, job, &job->work));
  CHECK(napi_queue_async_work(env, job->work));
  return NULL;
}

/* Whether this kernel has what the native path needs (pidfd_open: Linux >= 5.3; waitid P_PIDFD: 5.4). */
static napi_value js_probe(napi_env env, napi_callback_info cbinfo) {
  (void)cbinfo;
  napi_value result;
  int pidfd = (int)syscall(SYS_pidfd_open, getpid(), 0);
  if (pidfd == -1) return throw_errno(env, errno, "pidfd_open");
  siginfo_t info;
  memset(&info, 0, sizeof info);
  /* Our own pidfd is not our child: ECHILD means P_PIDFD is understood, EINVAL that it is not. */
  int r = waitid(P_PIDFD, (id_t)pidfd, &info, WEXITED | WNOHANG);
  int wait_errno = r == -1 ? errno : 0;
  close(pidfd);
  if (wait_errno == EINVAL) return throw_errno(env, EINVAL, "waitid(P_PIDFD)");
  napi_get_boolean(env, 1, &result);
  return result;
}

NAPI_MODULE_INIT() {
  instance_t* instance = calloc(1, sizeof(instance_t));
  if (instance == NULL) return NULL;
  instance->env = env;
  if (napi_set_instance_data(env, instance, NULL, NULL) != napi_ok) return NULL;
  if (napi_add_async_cleanup_hook(env, cleanup_instance, instance, &instance->cleanup_hook) != napi_ok) return NULL;
  napi_value spawn_fn, probe_fn;
  CHECK(napi_create_function(env, "spawn", NAPI_AUTO_LENGTH, js_spawn, NULL, &spawn_fn));
  CHECK(napi_create_function(env, "probe", NAPI_AUTO_LENGTH, js_probe, NULL, &probe_fn));
  CHECK(napi_set_named_property(env, exports, "spawn", spawn_fn));
  CHECK(napi_set_named_property(env, exports, "probe", probe_fn));
  return exports;
}
