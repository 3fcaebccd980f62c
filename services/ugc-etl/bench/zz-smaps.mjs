import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs'; import * as os from 'node:os'; import * as path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
const root='/work/main';
const brokers=JSON.parse(fs.readFileSync(path.join(root,'.stack/state.json'),'utf8')).servers.kafka.env.KAFKA_BROKERS;
const prefix=`smaps-${randomUUID().slice(0,8)}.`;
const kafka=new Kafka({brokers:brokers.split(','),logLevel:logLevel.NOTHING});
const admin=kafka.admin(); await admin.connect();
const topic=`${prefix}tracking.clicks_on_video.pauses`;
await admin.createTopics({topics:[{topic,numPartitions:3}]});
const p=kafka.producer(); await p.connect();
const N=Number(process.env.N||200000); const film=randomUUID();
for(let i=0;i<N;i+=2000){ const msgs=[]; for(let j=0;j<2000;j++){const now=new Date().toISOString(); const u='u'+((i+j)%1000); msgs.push({key:u,value:JSON.stringify({event_id:randomUUID(),user_id:u,film_id:film,client_time:now,received_time:now,position_sec:(i+j)%7000})});} await p.send({topic,messages:msgs}); }
await p.disconnect();
console.log('produced',N);
const manifest=JSON.parse(fs.readFileSync(path.join(root,'services/ugc-etl/package.json'),'utf8')).cinema;
const args=(process.env.NODE_ARGS??manifest.nodeArgs.join(' ')).split(' ').filter(Boolean);
const chdb=fs.mkdtempSync(path.join(os.tmpdir(),'smaps-chdb-'));
const child=spawn(process.execPath,[...args,...(process.env.NOTEL?[]:['--require',path.join(root,'packages/telemetry/dist/register.js')]),path.join(root,'services/ugc-etl/dist/main.js')],{cwd:'/tmp/snaps',env:{...manifest.env,...process.env,PORT:'18999',LOG_LEVEL:'warn',KAFKA_BROKERS:brokers,KAFKA_GROUP_ID:'g-'+prefix,KAFKA_TOPIC_PREFIX:prefix,CHDB_PATH:chdb,AUTH_JWKS_URL:'http://127.0.0.1:9/j'},stdio:['ignore',process.env.TRACE?'inherit':'ignore','inherit']});
let best={rss:0}; const t0=Date.now();
const cat=(txt)=>{ const out={}; let cur=null; let rss=0;
 for(const l of txt.split('\n')){ const m=/^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$/.exec(l); if(m){ const size=(parseInt(m[2],16)-parseInt(m[1],16))/1048576; let name=m[4]||''; if(!name){ name= size>=60? 'anon>=60MB(malloc arena/reserve)': size>=7.9&&size<=8.1?'anon 8MB(thread stack)': 'anon other'; } else name=name.replace(/.*\//,'')+' '+m[3]; cur=name; continue;} const r=/^Rss:\s+(\d+)/.exec(l); if(r&&cur){ out[cur]=(out[cur]||0)+Number(r[1])/1024; } }
 return out; };
const iv=setInterval(()=>{ try{ const st=fs.readFileSync(`/proc/${child.pid}/status`,'utf8'); const rss=Number(/VmRSS:\s+(\d+)/.exec(st)[1])/1024; if(rss>best.rss){ best={rss,at:(Date.now()-t0)/1000,smaps:fs.readFileSync(`/proc/${child.pid}/smaps`,'utf8')}; } }catch{} },100);
if(process.env.SNAP){ await new Promise(r=>setTimeout(r,Number(process.env.SNAP)*1000)); child.kill('SIGUSR2'); }
await new Promise(r=>setTimeout(r,Number(process.env.SECS||30)*1000));
clearInterval(iv); child.kill('SIGTERM');
const c=cat(best.smaps); console.log('peak',best.rss.toFixed(0),'MB at',best.at,'s');
Object.entries(c).sort((a,b)=>b[1]-a[1]).filter(e=>e[1]>0.5).forEach(([k,v])=>console.log(v.toFixed(1).padStart(7),k));
// anon mapping size histogram
const ams=[]; let cur=null; for(const l of best.smaps.split('\n')){ const m=/^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$/.exec(l); if(m){cur={size:(parseInt(m[2],16)-parseInt(m[1],16))/1048576,name:m[4]}; ams.push(cur);} const r=/^Rss:\s+(\d+)/.exec(l); if(r&&cur) cur.rss=Number(r[1])/1024; }
console.log('largest anon mappings by rss:'); ams.filter(a=>!a.name).sort((a,b)=>b.rss-a.rss).slice(0,15).forEach(a=>console.log('  size',a.size.toFixed(1),'rss',a.rss.toFixed(1)));
console.log('anon mappings count', ams.filter(a=>!a.name).length, 'sum rss', ams.filter(a=>!a.name).reduce((s,a)=>s+a.rss,0).toFixed(1));
await admin.deleteTopics({topics:[topic]}).catch(()=>{}); await admin.disconnect(); fs.rmSync(chdb,{recursive:true,force:true});
