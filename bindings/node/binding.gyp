# bindings/node/binding.gyp - `npm install` here builds persist.node with
# node-gyp against the Node headers already on the machine (--nodedir, see
# package.json: nothing is downloaded), linking the libpersist of this
# source tree after `make` (core/.libs) or an installed one (pkg-config).
{
  "targets": [{
    "target_name": "persist",
    "sources": ["addon.c", "args.c", "job.c", "config.c", "state.c", "session.c"],
    "include_dirs": ["../../include"],
    "cflags": ["-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter"],
    "libraries": [
      "-L<(module_root_dir)/../../core/.libs",
      "-Wl,-rpath,<(module_root_dir)/../../core/.libs",
      "<!@(pkg-config --libs persist 2>/dev/null || echo -lpersist)"
    ]
  }]
}
