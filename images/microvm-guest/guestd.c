/*
 * guestd: PID 1 of a bot-bottle micro-VM and the host's exec channel into it.
 *
 * The host talks to it over virtio-serial ports named "bb.exec<N>" (never the
 * network). Each port ("lane") carries one command at a time as frames:
 *   u8 type, u32 big-endian length, payload.
 * Host -> guest:
 *   'O' open: NUL-separated fields "u=<user>", "w=<dir>", "t=<0|1>",
 *       "r=<rows>", "c=<cols>", "e=<NAME=value>"..., "a=<arg>"...
 *   'I' stdin bytes        'C' stdin closed       'R' resize (u16 rows, u16 cols)
 *   'K' signal (u8)        'P' ping               'S' power off
 * Guest -> host:
 *   'o' stdout bytes       'e' stderr bytes       'x' exit status (i32)
 *   'E' error text         'p' pong (kernel release)
 * A host that disconnects mid-command hangs it up: the command's process
 * group gets SIGHUP, then SIGKILL (also when the hang-up went unseen and the
 * next client opens a command on the lane). As PID 1, guestd also reaps orphans.
 * Every command runs as Docker runs the agent's: in the agent's cgroup (the
 * bottle's limits, set up by the init), with no capabilities at all (empty
 * bounding, ambient, permitted and effective sets, even for root) and
 * no_new_privs, so a setuid binary in the image grants nothing.
 * Statically linked and free of NSS: users are read from /etc/passwd.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/reboot.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define MAX_LANES 16
#define MAX_FRAME (1 << 20)
#define OUT_HIGH (256 * 1024)
#define DRAIN_MS 200

struct buf {
  char *data;
  size_t len, cap;
};

struct session {
  pid_t pid;        /* 0: none */
  int in_fd;        /* child's stdin (or pty master) */
  int out_fd;       /* child's stdout (or pty master) */
  int err_fd;       /* child's stderr, -1 with a tty */
  int tty;
  int exited;
  int status;
  int stdin_closed;
  long long exited_at;
  struct buf inbuf; /* pending stdin */
};

struct lane {
  int fd;
  char name[64];
  long long hup_until; /* host not connected: do not poll before this */
  struct buf rx, tx;
  struct session s;
};

static struct lane lanes[MAX_LANES];
static int nlanes;

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void buf_add(struct buf *b, const void *p, size_t n) {
  if (b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + n) cap *= 2;
    char *d = realloc(b->data, cap);
    if (!d) abort();
    b->data = d;
    b->cap = cap;
  }
  memcpy(b->data + b->len, p, n);
  b->len += n;
}

static void buf_drop(struct buf *b, size_t n) {
  memmove(b->data, b->data + n, b->len - n);
  b->len -= n;
}

static void send_frame(struct lane *l, char type, const void *p, uint32_t n) {
  unsigned char h[5] = {(unsigned char)type, n >> 24, n >> 16, n >> 8, n};
  buf_add(&l->tx, h, 5);
  if (n) buf_add(&l->tx, p, n);
}

static void send_error(struct lane *l, const char *what) {
  char msg[512];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(errno));
  send_frame(l, 'E', msg, strlen(msg));
}

static void close_fd(int *fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

static void end_session(struct lane *l) {
  struct session *s = &l->s;
  if (s->in_fd == s->out_fd) s->in_fd = -1;
  close_fd(&s->in_fd);
  close_fd(&s->out_fd);
  close_fd(&s->err_fd);
  free(s->inbuf.data);
  memset(s, 0, sizeof *s);
  s->in_fd = s->out_fd = s->err_fd = -1;
}

/* End the lane's command as a closed terminal would, and its session with it. */
static void hang_up_command(struct lane *l) {
  if (l->s.pid > 0 && !l->s.exited) {
    kill(-l->s.pid, SIGHUP);
    kill(-l->s.pid, SIGCONT);
    usleep(50000);
    kill(-l->s.pid, SIGKILL);
  }
  end_session(l);
  l->tx.len = 0;
}

/* The host went away: hang the command up like a closed terminal. */
static void hangup(struct lane *l) {
  hang_up_command(l);
  l->rx.len = 0;
}

struct user {
  uid_t uid;
  gid_t gid;
  char home[256];
};

/* "name", "uid" or "uid:gid", resolved against /etc/passwd like Docker's User. */
static int resolve_user(const char *spec, struct user *u) {
  char name[128];
  const char *colon = strchr(spec, ':');
  size_t n = colon ? (size_t)(colon - spec) : strlen(spec);
  if (n == 0 || n >= sizeof name) n = 0;
  memcpy(name, spec, n);
  name[n] = 0;
  if (!n) strcpy(name, "root");
  char *end;
  long numeric = strtol(name, &end, 10);
  int is_num = *end == 0;
  u->uid = is_num ? (uid_t)numeric : (uid_t)-1;
  u->gid = is_num ? (gid_t)numeric : (gid_t)-1;
  strcpy(u->home, "/");
  FILE *f = fopen("/etc/passwd", "r");
  char line[1024];
  int found = 0;
  while (f && fgets(line, sizeof line, f)) {
    char *fields[7] = {0};
    char *p = line;
    for (int i = 0; i < 7 && p; i++) {
      fields[i] = p;
      p = strchr(p, ':');
      if (p) *p++ = 0;
    }
    if (!fields[6]) continue;
    fields[6][strcspn(fields[6], "\n")] = 0;
    int match = is_num ? (uid_t)atol(fields[2]) == u->uid : strcmp(fields[0], name) == 0;
    if (!match) continue;
    u->uid = (uid_t)atol(fields[2]);
    u->gid = (gid_t)atol(fields[3]);
    snprintf(u->home, sizeof u->home, "%s", fields[5]);
    found = 1;
    break;
  }
  if (f) fclose(f);
  if (!found && !is_num) return -1;
  if (colon) u->gid = (gid_t)atol(colon + 1);
  return 0;
}

#define AGENT_CGROUP "/sys/fs/cgroup/agent/cgroup.procs"

/* In the child, still root: join the agent's cgroup and give up every privilege for good. */
static int confine(void) {
  if (access(AGENT_CGROUP, F_OK) == 0) {
    int fd = open(AGENT_CGROUP, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, "0", 1) != 1) return -1;
    close(fd);
  }
  for (int c = 0; c <= 63; c++) {
    if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL) return -1;
  }
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL) return -1;
  return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
}

/* After setuid: root keeps its capabilities across setuid(0), so clear them explicitly. */
static int drop_caps(void) {
  struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
  struct __user_cap_data_struct d[2];
  memset(d, 0, sizeof d);
  return (int)syscall(SYS_capset, &h, d);
}

static void set_nonblock(int fd) {
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  fcntl(fd, F_SETFD, FD_CLOEXEC);
}

static void open_session(struct lane *l, char *p, uint32_t n) {
  if (l->s.pid) {
    /* One host client holds a lane at a time (the host locks it, taking a
       lock over only from a dead client), so an open on a busy lane means the
       last client went away unseen: a guest busy under software emulation
       can miss the hang-up when the next client connects before guestd
       polls. Hang the old command up as a hang-up would (its unsent output
       goes with it) instead of wedging the lane for good. */
    hang_up_command(l);
  }
  const char *user = "root", *dir = "/";
  int tty = 0;
  unsigned short rows = 24, cols = 80;
  char *argv[1024], *envp[1024];
  int argc = 0, envc = 0, has_home = 0, has_path = 0;
  for (char *f = p; f < p + n; f += strlen(f) + 1) {
    if (f[0] == 0 || f[1] != '=') continue;
    char *v = f + 2;
    switch (f[0]) {
      case 'u': user = v; break;
      case 'w': dir = v; break;
      case 't': tty = v[0] == '1'; break;
      case 'r': rows = (unsigned short)atoi(v); break;
      case 'c': cols = (unsigned short)atoi(v); break;
      case 'e':
        if (envc < 1020) envp[envc++] = v;
        if (!strncmp(v, "HOME=", 5)) has_home = 1;
        if (!strncmp(v, "PATH=", 5)) has_path = 1;
        break;
      case 'a':
        if (argc < 1023) argv[argc++] = v;
        break;
    }
  }
  argv[argc] = NULL;
  if (argc == 0) {
    send_frame(l, 'E', "no command", 10);
    return;
  }
  struct user u;
  if (resolve_user(user, &u) < 0) {
    char msg[300];
    snprintf(msg, sizeof msg, "unknown user %s", user);
    send_frame(l, 'E', msg, strlen(msg));
    return;
  }
  char homevar[300];
  snprintf(homevar, sizeof homevar, "HOME=%s", u.home);
  if (!has_home) envp[envc++] = homevar;
  if (!has_path) envp[envc++] = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  envp[envc] = NULL;

  int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1}, master = -1;
  char *slave = NULL;
  if (tty) {
    master = posix_openpt(O_RDWR | O_NOCTTY);
    if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0 || !(slave = ptsname(master))) {
      send_error(l, "opening a terminal");
      if (master >= 0) close(master);
      return;
    }
    struct winsize ws = {.ws_row = rows, .ws_col = cols};
    ioctl(master, TIOCSWINSZ, &ws);
  } else if (pipe(in) < 0 || pipe(out) < 0 || pipe(err) < 0) {
    send_error(l, "creating pipes");
    return;
  }
  pid_t pid = fork();
  if (pid < 0) {
    send_error(l, "fork");
    return;
  }
  if (pid == 0) {
    sigset_t all;
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    for (int i = 1; i < NSIG; i++) signal(i, SIG_DFL);
    setsid();
    if (tty) {
      int s = open(slave, O_RDWR);
      if (s < 0) _exit(126);
      ioctl(s, TIOCSCTTY, 0);
      dup2(s, 0), dup2(s, 1), dup2(s, 2);
      if (s > 2) close(s);
      close(master);
    } else {
      dup2(in[0], 0), dup2(out[1], 1), dup2(err[1], 2);
      close(in[0]), close(in[1]), close(out[0]), close(out[1]), close(err[0]), close(err[1]);
    }
    if (confine() < 0) {
      dprintf(2, "guestd: cannot confine the command: %s\n", strerror(errno));
      _exit(126);
    }
    gid_t g = u.gid;
    if (setgroups(1, &g) < 0 || setgid(u.gid) < 0 || setuid(u.uid) < 0 || drop_caps() < 0) {
      dprintf(2, "guestd: cannot become %s: %s\n", user, strerror(errno));
      _exit(126);
    }
    if (chdir(dir) < 0) {
      dprintf(2, "guestd: cannot enter %s: %s\n", dir, strerror(errno));
      _exit(126);
    }
    environ = envp;
    execvp(argv[0], argv);
    dprintf(2, "guestd: %s: %s\n", argv[0], strerror(errno));
    _exit(errno == ENOENT ? 127 : 126);
  }
  struct session *s = &l->s;
  s->pid = pid;
  s->tty = tty;
  if (tty) {
    set_nonblock(master);
    s->in_fd = s->out_fd = master;
    s->err_fd = -1;
  } else {
    close(in[0]), close(out[1]), close(err[1]);
    set_nonblock(in[1]), set_nonblock(out[0]), set_nonblock(err[0]);
    s->in_fd = in[1];
    s->out_fd = out[0];
    s->err_fd = err[0];
  }
}

static void handle_frame(struct lane *l, char type, char *p, uint32_t n) {
  struct session *s = &l->s;
  switch (type) {
    case 'O':
      open_session(l, p, n);
      break;
    case 'I':
      if (s->pid && !s->stdin_closed) buf_add(&s->inbuf, p, n);
      break;
    case 'C':
      s->stdin_closed = 1;
      break;
    case 'R':
      if (s->tty && s->out_fd >= 0 && n >= 4) {
        struct winsize ws = {.ws_row = (unsigned short)((unsigned char)p[0] << 8 | (unsigned char)p[1]),
                             .ws_col = (unsigned short)((unsigned char)p[2] << 8 | (unsigned char)p[3])};
        ioctl(s->out_fd, TIOCSWINSZ, &ws);
      }
      break;
    case 'K':
      if (s->pid && !s->exited && n >= 1) kill(-s->pid, (unsigned char)p[0]);
      break;
    case 'P': {
      struct utsname un;
      uname(&un);
      send_frame(l, 'p', un.release, strlen(un.release));
      break;
    }
    case 'S':
      sync();
      reboot(RB_POWER_OFF);
      break;
  }
}

static void parse_rx(struct lane *l) {
  while (l->rx.len >= 5) {
    unsigned char *h = (unsigned char *)l->rx.data;
    uint32_t n = (uint32_t)h[1] << 24 | (uint32_t)h[2] << 16 | (uint32_t)h[3] << 8 | h[4];
    if (n > MAX_FRAME) {
      hangup(l);
      return;
    }
    if (l->rx.len < 5 + n) return;
    handle_frame(l, (char)h[0], l->rx.data + 5, n);
    buf_drop(&l->rx, 5 + n);
  }
}

/* Read a command's output into frames; -1 on end of file. */
static int pump_output(struct lane *l, int *fd, char type) {
  char b[16384];
  ssize_t r = read(*fd, b, sizeof b);
  if (r > 0) {
    send_frame(l, type, b, (uint32_t)r);
    return 0;
  }
  if (r < 0 && (errno == EAGAIN || errno == EINTR)) return 0;
  /* EOF, or EIO from a pty whose last slave closed. */
  if (l->s.in_fd == *fd) l->s.in_fd = -1;
  close_fd(fd);
  return -1;
}

static void maybe_finish(struct lane *l) {
  struct session *s = &l->s;
  if (!s->pid || !s->exited) return;
  int drained = s->out_fd < 0 && s->err_fd < 0;
  /* Output still held open by a background child: stop waiting after a pause. */
  if (!drained && now_ms() - s->exited_at < DRAIN_MS) return;
  int code = WIFEXITED(s->status) ? WEXITSTATUS(s->status) : 128 + WTERMSIG(s->status);
  unsigned char c[4] = {(unsigned)code >> 24, (unsigned)code >> 16, (unsigned)code >> 8, (unsigned)code};
  send_frame(l, 'x', c, 4);
  end_session(l);
}

static void reap(void) {
  int status;
  pid_t pid;
  while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
    for (int i = 0; i < nlanes; i++) {
      if (lanes[i].s.pid == pid) {
        lanes[i].s.exited = 1;
        lanes[i].s.status = status;
        lanes[i].s.exited_at = now_ms();
      }
    }
  }
}

static void open_lanes(void) {
  DIR *d = opendir("/sys/class/virtio-ports");
  struct dirent *e;
  while (d && (e = readdir(d)) && nlanes < MAX_LANES) {
    if (e->d_name[0] == '.') continue;
    char path[512], name[64] = {0};
    snprintf(path, sizeof path, "/sys/class/virtio-ports/%s/name", e->d_name);
    FILE *f = fopen(path, "r");
    if (!f) continue;
    if (!fgets(name, sizeof name, f)) name[0] = 0;
    fclose(f);
    name[strcspn(name, "\n")] = 0;
    if (strncmp(name, "bb.exec", 7) != 0) continue;
    int known = 0;
    for (int i = 0; i < nlanes; i++) known |= strcmp(lanes[i].name, name) == 0;
    if (known) continue;
    snprintf(path, sizeof path, "/dev/%s", e->d_name);
    int fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) continue;
    struct lane *l = &lanes[nlanes++];
    memset(l, 0, sizeof *l);
    l->fd = fd;
    snprintf(l->name, sizeof l->name, "%s", name);
    l->s.in_fd = l->s.out_fd = l->s.err_fd = -1;
  }
  if (d) closedir(d);
}

int main(void) {
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGHUP);
  sigaddset(&mask, SIGPIPE);
  sigprocmask(SIG_BLOCK, &mask, NULL);
  int sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
  setsid();
  /* Ports appear asynchronously once virtio_console has talked to QEMU: wait
     for as many as the host announced on the command line (bb.lanes=N). */
  int expected = 1;
  FILE *cf = fopen("/proc/cmdline", "r");
  char cmdline[4096] = {0};
  if (cf) {
    if (!fgets(cmdline, sizeof cmdline, cf)) cmdline[0] = 0;
    fclose(cf);
  }
  char *lp = strstr(cmdline, "bb.lanes=");
  if (lp) expected = atoi(lp + 9);
  if (expected < 1 || expected > MAX_LANES) expected = 1;
  long long give_up = now_ms() + 60000;
  for (;;) {
    open_lanes();
    if (nlanes >= expected || now_ms() > give_up) break;
    usleep(20000);
  }
  if (nlanes == 0) {
    dprintf(2, "guestd: no bb.exec ports\n");
    sync();
    reboot(RB_POWER_OFF);
  }
  dprintf(2, "guestd: ready on %d lanes\n", nlanes);

  for (;;) {
    struct pollfd pfd[1 + MAX_LANES * 4];
    struct {
      struct lane *l;
      int what; /* 0 lane, 1 stdout, 2 stderr, 3 stdin */
    } who[1 + MAX_LANES * 4];
    int np = 0;
    long long now = now_ms();
    int timeout = -1;
    pfd[np] = (struct pollfd){.fd = sfd, .events = POLLIN};
    who[np++].l = NULL;
    for (int i = 0; i < nlanes; i++) {
      struct lane *l = &lanes[i];
      struct session *s = &l->s;
      if (l->hup_until > now) {
        long long wait = l->hup_until - now;
        if (timeout < 0 || wait < timeout) timeout = (int)wait;
      } else {
        pfd[np] = (struct pollfd){.fd = l->fd, .events = POLLIN | (l->tx.len ? POLLOUT : 0)};
        who[np].l = l, who[np++].what = 0;
      }
      int room = l->tx.len < OUT_HIGH;
      if (s->pid && room && s->out_fd >= 0) {
        pfd[np] = (struct pollfd){.fd = s->out_fd, .events = POLLIN};
        who[np].l = l, who[np++].what = 1;
      }
      if (s->pid && room && s->err_fd >= 0) {
        pfd[np] = (struct pollfd){.fd = s->err_fd, .events = POLLIN};
        who[np].l = l, who[np++].what = 2;
      }
      if (s->pid && s->in_fd >= 0 && s->inbuf.len && !s->tty) {
        pfd[np] = (struct pollfd){.fd = s->in_fd, .events = POLLOUT};
        who[np].l = l, who[np++].what = 3;
      }
      if (s->pid && s->exited) {
        long long wait = s->exited_at + DRAIN_MS - now;
        if (wait < 1) wait = 1;
        if (timeout < 0 || wait < timeout) timeout = (int)wait;
      }
    }
    int r = poll(pfd, np, timeout);
    if (r < 0 && errno != EINTR) continue;
    now = now_ms();
    for (int k = 0; k < np; k++) {
      if (!pfd[k].revents) continue;
      struct lane *l = who[k].l;
      if (!l) {
        struct signalfd_siginfo si;
        while (read(sfd, &si, sizeof si) == sizeof si) {
          if (si.ssi_signo == SIGCHLD) reap();
        }
        continue;
      }
      struct session *s = &l->s;
      switch (who[k].what) {
        case 0:
          if (pfd[k].revents & POLLIN) {
            char b[65536];
            ssize_t n = read(l->fd, b, sizeof b);
            if (n > 0) {
              buf_add(&l->rx, b, (size_t)n);
              parse_rx(l);
            }
          }
          if ((pfd[k].revents & POLLOUT) && l->tx.len) {
            ssize_t n = write(l->fd, l->tx.data, l->tx.len);
            if (n > 0) buf_drop(&l->tx, (size_t)n);
          }
          if ((pfd[k].revents & (POLLHUP | POLLERR)) && !(pfd[k].revents & POLLIN)) {
            /* No host on this lane (any more). */
            hangup(l);
            l->hup_until = now + 100;
          }
          break;
        case 1:
          pump_output(l, &s->out_fd, 'o');
          break;
        case 2:
          pump_output(l, &s->err_fd, 'e');
          break;
        case 3: {
          ssize_t n = write(s->in_fd, s->inbuf.data, s->inbuf.len);
          if (n > 0) buf_drop(&s->inbuf, (size_t)n);
          break;
        }
      }
    }
    for (int i = 0; i < nlanes; i++) {
      struct lane *l = &lanes[i];
      struct session *s = &l->s;
      if (s->pid && s->tty && s->inbuf.len && s->out_fd >= 0) {
        ssize_t n = write(s->out_fd, s->inbuf.data, s->inbuf.len);
        if (n > 0) buf_drop(&s->inbuf, (size_t)n);
      }
      if (s->pid && s->stdin_closed && !s->inbuf.len && s->in_fd >= 0) {
        if (s->tty) {
          /* End of input on a terminal: the EOF character, as a user would type it. */
          if (s->stdin_closed == 1) write(s->out_fd, "\x04", 1), s->stdin_closed = 2;
        } else {
          close_fd(&s->in_fd);
        }
      }
      maybe_finish(l);
    }
  }
}
