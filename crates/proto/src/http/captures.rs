//! Request and response bytes from real captures in `/work/shared/corpus/pcaps/` (each TCP
//! direction reassembled in sequence order), with the facts expected for them in
//! `/work/shared/corpus/expected/<name>.json`. Tunnelled TLS is cut after 16 bytes.
//!
//! Sources: OISF/suricata-verify (MIT) and FoxIO-LLC/ja4 `pcap/` (see the corpus README).

// bug-814.pcap
pub(crate) const BUG_814_REQ: &[u8] = b"\
    GET /cgi-bin/cart32.exe HTTP/1.1\r\n\
    User-Agent: Mozilla/4.75 (Nikto/2.1.4) (Evasions:None) (Test:000003)\r\n\
    Connection: Keep-Alive\r\n\
    Host: www.net1.bg\r\n\
    \r\n\
";

// decode-sll2-01.pcap
pub(crate) const DECODE_SLL2_01_REQ: &[u8] = b"\
    GET /testing HTTP/1.1\r\n\
    Host: 192.168.1.21\r\n\
    User-Agent: curl/8.5.0\r\n\
    Accept: */*\r\n\
    \r\n\
";

// detect-pcre-02.pcap
pub(crate) const DETECT_PCRE_02_REQ: &[u8] = b"\
    GET / HTTP/1.1\n\
    Host: www.emergingthreats.net\n\
    User-Agent: Mozilla/5.0 (X11; U; Linux i686; es-ES; rv:1.9.0.13) Gecko/2009080315 Ubuntu\
    /8.10 (intrepid) Firefox/3.0.13\n\
    Content-Type: text/html; charset=utf-8\n\
    Content-Length: 21\n\
    \n\
    <!DOC\n\
    <!DOCTYPE html PUBLIC\n\
";

// security-4710-01.pcap
pub(crate) const SECURITY_4710_01_REQ: &[u8] = b"\
    GET /ultrasurf.html HTTP/1.1\r\n\
    Accept-Encoding: identity\r\n\
    Host: 192.168.112.136\r\n\
    User-Agent: Python-urllib/3.6\r\n\
    Connection: close\r\n\
    \r\n\
";

pub(crate) const SECURITY_4710_01_RESP: &[u8] = b"\
    HTTP/1.1 200 OK\r\n\
    Date: Sat, 25 Sep 2021 05:54:40 GMT\r\n\
    Server: Apache/2.4.29 (Ubuntu)\r\n\
    Last-Modified: Thu, 02 Sep 2021 13:13:37 GMT\r\n\
    ETag: \"2d-5cb02f3680e1b\"\r\n\
    Accept-Ranges: bytes\r\n\
    Content-Length: 45\r\n\
    Connection: close\r\n\
    Content-Type: text/html\r\n\
    \r\n\
    <html>\n\
    \t<title> you crack it</title>\n\
    </html>\n\
";

// http-ipv6.pcap
pub(crate) const HTTP_IPV6_REQ: &[u8] = b"\
    GET / HTTP/1.1\r\n\
    Host: [::1]:8000\r\n\
    User-Agent: curl/7.54.0\r\n\
    Accept: */*\r\n\
    \r\n\
";

pub(crate) const HTTP_IPV6_RESP: &[u8] = b"\
    HTTP/1.0 200 OK\r\n\
    Server: SimpleHTTP/0.6 Python/3.9.1\r\n\
    Date: Wed, 21 Jul 2021 11:58:06 GMT\r\n\
    Content-type: text/html; charset=utf-8\r\n\
    Content-Length: 563\r\n\
    \r\n\
    <!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 4.01//EN\" \"http://www.w3.org/TR/html4/strict.\
    dtd\">\n\
    <html>\n\
    <head>\n\
    <meta http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\">\n\
    <title>Directory listing for /</title>\n\
    </head>\n\
    <body>\n\
    <h1>Directory listing for /</h1>\n\
    <hr>\n\
    <ul>\n\
    <li><a href=\".DS_Store\">.DS_Store</a></li>\n\
    <li><a href=\"ipv6-atomic-fragments-toobig/\">ipv6-atomic-fragments-toobig/</a></li>\n\
    <li><a href=\"ipv6-kill-router-gateway/\">ipv6-kill-router-gateway/</a></li>\n\
    <li><a href=\"ipv6-parasite6-real/\">ipv6-parasite6-real/</a></li>\n\
    </ul>\n\
    <hr>\n\
    </body>\n\
    </html>\n\
";

// datasets-04-http-dns.pcap
pub(crate) const DATASETS_04_REQ: &[u8] = b"\
    GET / HTTP/1.1\r\n\
    Host: example.com\r\n\
    \r\n\
";

// ja4repo-http-empty-useragent.pcap
pub(crate) const EMPTY_UA_REQ: &[u8] = b"\
    GET / HTTP/1.0\n\
    User-Agent:\n\
    \n\
";

pub(crate) const EMPTY_UA_RESP: &[u8] = b"\
    HTTP/1.0 200 OK\r\n\
    content-type: application/json; charset=UTF-8\r\n\
    content-length: 489\r\n\
    \r\n\
    {\n\
    \x20 \"name\" : \"-RrS9vI\",\n\
    \x20 \"cluster_name\" : \"elasticsearch\",\n\
    \x20 \"cluster_uuid\" : \"zFHTvx2nSmmli1HGnD4xew\",\n\
    \x20 \"version\" : {\n\
    \x20   \"number\" : \"6.4.0\",\n\
    \x20   \"build_flavor\" : \"oss\",\n\
    \x20   \"build_type\" : \"tar\",\n\
    \x20   \"build_hash\" : \"595516e\",\n\
    \x20   \"build_date\" : \"2018-08-17T23:18:47.308994Z\",\n\
    \x20   \"build_snapshot\" : false,\n\
    \x20   \"lucene_version\" : \"7.4.0\",\n\
    \x20   \"minimum_wire_compatibility_version\" : \"5.6.0\",\n\
    \x20   \"minimum_index_compatibility_version\" : \"5.0.0\"\n\
    \x20 },\n\
    \x20 \"tagline\" : \"You Know, for Search\"\n\
    }\n\
";

// http-connect-simple.pcap
pub(crate) const CONNECT_SIMPLE_CLIENT: &[u8] = b"\
    CONNECT abc:443 HTTP/1.1\r\n\
    User-Agent: Victor/1.0\r\n\
    \r\n\
    \n\
    GET / HTTP/1.1\r\n\
    User-Agent: Victor/1.0\r\n\
    \r\n\
    \n\
";

pub(crate) const CONNECT_SIMPLE_SERVER: &[u8] = b"\
    HTTP/1.1 200 OK\r\n\
    Server: VictorServer/1.0\r\n\
    \r\n\
    \n\
    HTTP/1.1 200 OK\r\n\
    Server: VictorServer/1.0\r\n\
    \r\n\
";

// http-connect-fragmented.pcap
pub(crate) const CONNECT_FRAGMENTED_CLIENT: &[u8] = b"\
    CONNECT abc:443 HTTP/1.1\r\n\
    User-Agent: Victor/1.0\r\n\
    \r\n\
    GET / HTTP/1.1\r\n\
    User-Agent: Victor/1.0\r\n\
    \r\n\
";

pub(crate) const CONNECT_FRAGMENTED_SERVER: &[u8] = b"\
    HTTP/1.1 200 OK\r\n\
    Server: VictorServer/1.0\r\n\
    \r\n\
    HTTP/1.1 200 OK\r\n\
    Server: VictorServer/1.0\r\n\
    \r\n\
";

// bug-2430.pcap
pub(crate) const BUG_2430_CLIENT: &[u8] = b"\
    CONNECT qagpublic.qg1.apps.qualys.com:443 HTTP/1.1\r\n\
    Host: qagpublic.qg1.apps.qualys.com:443\r\n\
    \r\n\
    \x16\x03\x03\x00\xbd\x01\x00\x00\xb9\x03\x03Zp\xc7C\x93";

pub(crate) const BUG_2430_SERVER: &[u8] = b"\
    HTTP/1.1 200 Connection established\r\n\
    \r\n\
    \x16\x03\x03\x0cD\x02\x00\x00N\x03\x03Zp\xc7CL";

// ja4repo-https-connect.pcap
pub(crate) const HTTPS_CONNECT_CLIENT: &[u8] = b"\
    CONNECT ts01-b.cloudsink.net:443 HTTP/1.0\r\n\
    User-Agent: CrowdStrike Falcon Sensor\r\n\
    \r\n\
    \x16\x03\x01\x01\x1c\x01\x00\x01\x18\x03\x03\xa3\x078s\xf4";

pub(crate) const HTTPS_CONNECT_SERVER: &[u8] = b"\
    HTTP/1.0 200 OK\r\n\
    Date: Mon, 02 Sep 2019 18:56:53 GMT\r\n\
    Via: http/1.1 proxies.xxxxxxxxx.xxxxx.com (XXXXXXXXXXXXXXXXXXX)\r\n\
    Server: XXX\r\n\
    \r\n\
    \x16\x03\x03\x005\x02\x00\x001\x03\x03\xe0\xe0\x1ab\xd6";
