// Starts jest in this process, as create-react-app's scripts/test.js does.
require('jest').run(['--runInBand']);
