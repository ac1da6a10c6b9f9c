/* ls_share: a local file into the share, checked, never replacing. */
#include "helpers.h"

#include <dirent.h>
#include <sys/stat.h>

#include "ls_share.h"
#include "ls_util.h"

static int cb_calls, cb_status;

static void done(ls_share_add_t *req, int status) {
  (void)req;
  cb_calls++;
  cb_status = status;
}

static void read_back(const char *path, const char *want) {
  char buf[64] = {0};
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  assert_int_equal(n, strlen(want));
  assert_string_equal(buf, want);
}

static void links_and_refuses(void **state) {
  (void)state;
  char dir[256], share[300], src[300], link_path[300], dest[400];
  make_temp_dir(dir, sizeof dir);
  snprintf(share, sizeof share, "%s/share", dir);
  snprintf(src, sizeof src, "%s/song.ogg", dir);
  snprintf(link_path, sizeof link_path, "%s/link.ogg", dir);
  write_bytes(src, "la la", 5);
  assert_int_equal(symlink(src, link_path), 0);
  uv_loop_t loop;
  uv_loop_init(&loop);
  ls_share_add_t req;
  memset(&req, 0, sizeof req);

  /* A hard link, in a new subfolder. */
  assert_int_equal(ls_share_add(&loop, &req, share, src, "music/song.ogg", LS_SHARE_STRICT, done), 1);
  snprintf(dest, sizeof dest, "%s/music/song.ogg", share);
  read_back(dest, "la la");
  /* Never replaced. */
  assert_int_equal(ls_share_add(&loop, &req, share, src, "music/song.ogg", LS_SHARE_STRICT, done), -EEXIST);
  assert_non_null(strstr(req.why, "already in the share"));
  /* Names as strict as the share's own; no temporary-file names. */
  const char *bad[] = {"../up.ogg", "/abs.ogg", "a/../b", "a//b", "", "x.tmp.1", "tab\there"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_equal(ls_share_add(&loop, &req, share, src, bad[i], LS_SHARE_STRICT, done), -EINVAL);
  assert_int_equal(ls_share_add(&loop, &req, share, src, NULL, LS_SHARE_STRICT, done), -EINVAL);
  /* Strict: absolute paths to regular files only, never through a symlink. */
  assert_int_equal(ls_share_add(&loop, &req, share, "song.ogg", "s1", LS_SHARE_STRICT, done), -EINVAL);
  assert_int_equal(ls_share_add(&loop, &req, share, link_path, "s2", LS_SHARE_STRICT, done), -EINVAL);
  assert_int_equal(ls_share_add(&loop, &req, share, dir, "s3", LS_SHARE_STRICT, done), -EINVAL);
  assert_int_equal(ls_share_add(&loop, &req, share, "/dev/null", "s4", LS_SHARE_STRICT, done), -EINVAL);
  char missing[300];
  snprintf(missing, sizeof missing, "%s/missing", dir);
  assert_int_equal(ls_share_add(&loop, &req, share, missing, "s5", LS_SHARE_STRICT, done), -ENOENT);
  /* Lenient (a terminal's user): a symlink to a file is its file. */
  assert_int_equal(ls_share_add(&loop, &req, share, link_path, "s6", LS_SHARE_LENIENT, done), 1);
  snprintf(dest, sizeof dest, "%s/s6", share);
  read_back(dest, "la la");
  assert_int_equal(cb_calls, 0); /* no callback without a copy */
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  rm_tree(dir);
}

/* Across file systems (tmpfs /dev/shm to TMPDIR, where they differ): a copy
 * under a temporary name, linked in whole, the temporary name gone. */
static void copies_across_file_systems(void **state) {
  (void)state;
  char dir[256], share[300], src[300], dest[400];
  make_temp_dir(dir, sizeof dir);
  snprintf(share, sizeof share, "%s/share", dir);
  snprintf(src, sizeof src, "/dev/shm/lanswarm-unit-share-%d", (int)getpid());
  FILE *f = fopen(src, "wb");
  if (f == NULL) {
    rm_tree(dir);
    skip();
  }
  fputs("across", f);
  fclose(f);
  uv_loop_t loop;
  uv_loop_init(&loop);
  ls_share_add_t req;
  memset(&req, 0, sizeof req);
  cb_calls = 0;
  cb_status = 1;
  int rc = ls_share_add(&loop, &req, share, src, "far.bin", LS_SHARE_STRICT, done);
  assert_true(rc == 0 || rc == 1);
  if (rc == 0) {
    assert_int_equal(ls_share_add(&loop, &req, share, src, "other.bin", LS_SHARE_STRICT, done), -EBUSY);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(cb_calls, 1);
    assert_int_equal(cb_status, 0);
  }
  snprintf(dest, sizeof dest, "%s/far.bin", share);
  read_back(dest, "across");
  DIR *d = opendir(share);
  struct dirent *de;
  int entries = 0;
  while ((de = readdir(d)) != NULL)
    if (de->d_name[0] != '.') {
      entries++;
      assert_null(strstr(de->d_name, ".tmp."));
    }
  closedir(d);
  assert_int_equal(entries, 1);
  uv_loop_close(&loop);
  unlink(src);
  rm_tree(dir);
}

/* ls_share_remove: out of the folder into the aside folder, never replacing. */
static void removes_aside(void **state) {
  (void)state;
  char dir[256], folder[300], aside[300], path[400], moved[600];
  make_temp_dir(dir, sizeof dir);
  snprintf(folder, sizeof folder, "%s/downloads", dir);
  snprintf(aside, sizeof aside, "%s/unshared", dir);
  snprintf(path, sizeof path, "%s/sub", folder);
  assert_int_equal(ls_mkdir_p(path), 0);
  snprintf(path, sizeof path, "%s/sub/a.txt", folder);
  write_bytes(path, "one", 3);
  assert_int_equal(ls_share_remove(folder, aside, "sub/a.txt", moved, sizeof moved), 0);
  snprintf(path, sizeof path, "%s/sub/a.txt", aside);
  assert_string_equal(moved, path);
  read_back(path, "one");
  snprintf(path, sizeof path, "%s/sub/a.txt", folder);
  assert_int_equal(access(path, F_OK), -1);
  write_bytes(path, "two", 3);
  assert_int_equal(ls_share_remove(folder, aside, "sub/a.txt", moved, sizeof moved), 0);
  snprintf(path, sizeof path, "%s/sub/a.txt.1", aside);
  assert_string_equal(moved, path);
  read_back(path, "two");
  snprintf(path, sizeof path, "%s/sub/a.txt", aside);
  read_back(path, "one");
  assert_int_equal(ls_share_remove(folder, aside, "sub/a.txt", moved, sizeof moved), -ENOENT);
  assert_int_equal(ls_share_remove(folder, aside, "sub", moved, sizeof moved), -ENOENT); /* a folder */
  assert_int_equal(ls_share_remove(folder, aside, "../x", moved, sizeof moved), -EINVAL);
  rm_tree(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(links_and_refuses),
      cmocka_unit_test(copies_across_file_systems),
      cmocka_unit_test(removes_aside),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
