// An empty program: recorded minus plain is the recorder's fixed cost (start
// and exit), `node bench/values.js` (issue 9, seventh round).
