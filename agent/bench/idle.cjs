// The bare Node.js process of bench/footprint.mjs: nothing but a timer every 30 s.
setInterval(() => {}, 30_000);
