import { startService } from "../test/helpers/service.ts";
const s = await startService();
const url = await s.listen();
console.log(url, s.token);
setInterval(() => {}, 1000);
