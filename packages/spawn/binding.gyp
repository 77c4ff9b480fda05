{
  "targets": [
    {
      "target_name": "wtflow_spawn",
      "sources": ["native/spawn.c"],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-std=gnu11", "-Wall", "-Wextra", "-Werror=implicit-function-declaration"],
      "conditions": [["OS!='linux'", {"type": "none"}]]
    }
  ]
}
