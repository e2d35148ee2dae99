{
  "targets": [
    {
      "target_name": "vxtun",
      "sources": [
        "native/addon.cc",
        "native/checksum.cc",
        "native/checksum_js.cc",
        "native/partial_csum.cc",
        "native/batch.cc",
        "native/tun.cc",
        "native/udp.cc",
        "native/poll.cc",
        "native/fd.cc",
        "native/offload.cc",
        "native/gso.cc",
        "native/gro.cc",
        "native/tun_vnet.cc",
        "native/udp_gro.cc",
        "native/udp_send.cc",
        "native/udp_gso.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-O3", "-std=c++17", "-fvisibility=hidden", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-cast-function-type"]
    }
  ]
}
